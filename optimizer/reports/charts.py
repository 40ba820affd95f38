"""Plotly figures of plans and analyses. Each function takes plain tables and returns a
figure, so the pages and the board report draw the same charts."""
from __future__ import annotations

import hashlib

import pandas as pd
import plotly.colors
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optimizer.core.result import LOCAL_WORDS
from optimizer.reports import fmt

#: Without their grays, which stand for the district's own money.
PALETTE = px.colors.qualitative.Safe[:-1]
#: Funding sources get their own colors, so they never look like layers.
SOURCE_PALETTE = px.colors.qualitative.Dark2[:-1]
#: PASS tiers 0 (none) to 4, light to dark.
TIER_COLORS = ["#f1f1f1", "#c6dbef", "#6baed6", "#2171b5", "#08306b"]
MONEY_HOVER = "$%{value:,.0f}"
#: Waterfall bars: money coming in, money going out, and the totals (never plotly's defaults,
#: which some renderers draw black).
WATERFALL_COLORS = {"increasing": "#1b9e77", "decreasing": "#d95f02", "totals": "#2171b5"}
#: A dollar axis: whole dollars with a $ and thousands separators, and room for its labels.
DOLLAR_AXIS = dict(tickprefix="$", tickformat=",.0f", automargin=True)


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", y=-0.15))
    # tick labels widen the margins as needed instead of being cut off at the figure's edge
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _category_order(labels) -> list[str]:
    """Category labels in a fixed order: ascending numbers when every label is a whole
    number (fiscal years), otherwise as given; duplicates dropped."""
    labels = [str(x) for x in dict.fromkeys(labels)]
    if labels and all(x.lstrip("-").isdigit() for x in labels):
        return sorted(labels, key=int)
    return labels


def empty(title: str, text: str) -> go.Figure:
    """A blank figure carrying a message (nothing to draw)."""
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, 250)


def colors(names: list[str], palette: list[str] = PALETTE) -> dict[str, str]:
    """The same color for a name in every chart and every plan (a funding source with
    ``SOURCE_PALETTE``, a layer or a plan's name with ``PALETTE``): chosen by the name itself,
    not by its place in the list, so that adding a grant does not repaint the district's
    budget. The district's own money is always gray. Names whose colors would clash take the
    next free one, in the order of their own hash (not of the list)."""
    chosen = {name: LOCAL_COLOR for name in names if name.startswith(LOCAL_WORDS)}
    taken = set(chosen.values())
    for name in sorted(set(names) - set(chosen), key=lambda n: (_hash(n), n)):
        start = _hash(name) % len(palette)
        free = [palette[(start + k) % len(palette)] for k in range(len(palette))]
        color = next((c for c in free if c not in taken), free[0])
        chosen[name] = color
        taken.add(color)
    return chosen


#: The district's own money in every chart.
LOCAL_COLOR = "#7f7f7f"


def _hash(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big")


def translucent(color: str, alpha: float = 0.35) -> str:
    """A color (hex or ``rgb(...)``) as ``rgba(...)`` with the given opacity."""
    rgb = plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(color, "rgb")[0][0])
    return f"rgba({rgb[0]:.0f}, {rgb[1]:.0f}, {rgb[2]:.0f}, {alpha})"


def spend_treemap(items: pd.DataFrame, layers: list[str]) -> go.Figure:
    """Capital spend by layer, component and measure (all sites of a measure together)."""
    title = "Capital spend by layer, component and measure"
    items = items[items["capital_cost"] > 0]
    if items.empty:
        return empty(title, "No capital spend in this plan")
    fig = px.treemap(items, path=[px.Constant("All capital"), "layer", "component", "name"],
                     values="capital_cost", color="layer", color_discrete_map=colors(layers))
    fig.update_traces(hovertemplate="%{label}<br>" + MONEY_HOVER + "<extra></extra>",
                      texttemplate="%{label}<br>$%{value:,.0f}")
    return _layout(fig, title, 520)


def money_waterfall(flow: pd.DataFrame) -> go.Figure:
    """From the money available for capital to what is left (``tables.money_flow``)."""
    fig = go.Figure(go.Waterfall(x=flow["step"], y=flow["amount"], measure=flow["measure"],
                                 text=[fmt.money(v) for v in flow["amount"]], textposition="outside",
                                 hovertemplate="%{x}: %{text}<extra></extra>", cliponaxis=False,
                                 connector=dict(line=dict(color="#888888")),
                                 **{kind: dict(marker=dict(color=color))
                                    for kind, color in WATERFALL_COLORS.items()}))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(flow["step"]))
    fig.update_yaxes(title="capital ($)", **DOLLAR_AXIS)
    return _layout(fig, "From budget to spend to what is left (capital, all years)")


def capital_by_year(frame: pd.DataFrame, budget: dict[int, float], sources: list[str],
                    years=()) -> go.Figure:
    """Capital spend per fiscal year stacked by source, with the local capital budget.

    The x axis shows every fiscal year of ``budget`` (and of ``years`` and ``frame``) in
    ascending order, a year without spend included (plotly would otherwise order the years
    as the stacked traces first name them)."""
    fig = go.Figure()
    order = _category_order(sorted({int(y) for y in [*budget, *years, *frame["year"]]}))
    palette = colors(sources, SOURCE_PALETTE)
    for source in sources:
        rows = frame[frame["source"] == source]
        if not rows.empty:
            fig.add_bar(x=rows["year"].astype(str), y=rows["amount"], name=source,
                        marker_color=palette[source], hovertemplate=source + ": $%{y:,.0f}<extra></extra>")
    fig.add_scatter(x=[str(y) for y in budget], y=list(budget.values()), mode="markers",
                    name="local capital budget", marker=dict(symbol="line-ew-open", size=40, color="black"),
                    hovertemplate="local budget: $%{y:,.0f}<extra></extra>")
    fig.update_layout(barmode="stack", xaxis_title="fiscal year")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=order, range=[-0.5, len(order) - 0.5])
    fig.update_yaxes(title="capital spent ($)", **DOLLAR_AXIS)
    return _layout(fig, "Capital spend by fiscal year and source")


def _unique_labels(ids: list[str], names: dict[str, str] | None) -> list[str]:
    """Display names of ``ids`` (the id where no name is given); a name two ids share gets
    its id added, so that no two rows or columns of a heat map merge."""
    shown = [str((names or {}).get(i) or i) for i in ids]
    repeated = {label for label in shown if shown.count(label) > 1}
    return [f"{label} ({i})" if label in repeated else label for label, i in zip(shown, ids)]


def tier_heatmaps(before: pd.DataFrame, after: pd.DataFrame, layers: dict[str, str] | None = None,
                  sites: dict[str, str] | None = None) -> go.Figure:
    """PASS tier per site (rows) and layer (columns), before and after the plan.

    ``layers`` and ``sites`` map the ids of the columns and rows to the names shown (PASS
    layer names, school names); each cell shows its tier number."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("Before", "After"),
                        horizontal_spacing=0.04)
    scale = [[i / 4, c] for i, c in enumerate(TIER_COLORS)]
    x = _unique_labels(list(before.columns), layers)
    y = _unique_labels(list(before.index), sites)
    for col, frame in enumerate((before, after), start=1):
        tiers = frame.reindex(index=before.index, columns=before.columns).to_numpy().tolist()
        fig.add_trace(go.Heatmap(z=tiers, x=x, y=y,
                                 zmin=0, zmax=4, colorscale=scale, text=tiers,
                                 texttemplate="%{text}", showscale=col == 2, xgap=1, ygap=1,
                                 colorbar=dict(title="tier", tickvals=[0, 1, 2, 3, 4]),
                                 hovertemplate="%{y}, %{x}: tier %{z}<extra></extra>"), 1, col)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x, tickangle=-30)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=y, autorange="reversed",
                     dtick=1)
    return _layout(fig, "PASS tier per site and layer", 160 + 24 * len(before))


def funding_sankey(flows: pd.DataFrame, sources: list[str], layers: list[str]) -> go.Figure:
    """Dollars from funding sources (left) to PASS layers (right)."""
    title = "Which source pays for which layer"
    if flows.empty:
        return empty(title, "No spending in this plan")
    used = [s for s in sources if s in set(flows["source"])]
    targets = [layer for layer in layers if layer in set(flows["layer"])]
    nodes = used + targets
    index = {name: i for i, name in enumerate(nodes)}
    palette = {**colors(sources, SOURCE_PALETTE), **colors(layers)}
    fig = go.Figure(go.Sankey(
        node=dict(label=nodes, color=[palette[n] for n in nodes], pad=18, thickness=18,
                  hovertemplate="%{label}: $%{value:,.0f}<extra></extra>"),
        link=dict(source=[index[s] for s in flows["source"]], target=[index[t] for t in flows["layer"]],
                  value=flows["amount"], color=[translucent(palette[s]) for s in flows["source"]],
                  hovertemplate="%{source.label} to %{target.label}: $%{value:,.0f}<extra></extra>")))
    fig.update_layout(font_size=13)
    return _layout(fig, title, 460)


def frontier_staircase(table: pd.DataFrame, scenario_budget: float, selected: float | None = None) -> go.Figure:
    """Best modelled risk reduced (the board's unit) against local capital over the horizon,
    as a staircase.

    Hovering a point shows its items and spend; the knee, the scenario's own budget and the
    steps not proven to buy more are marked, and ``selected`` (a budget of the table) is
    highlighted.
    """
    data = table[["items", "capital", "annual", "gain"]].to_numpy()
    hover = ("Local capital budget $%{x:,.0f}<br>Modelled risk reduced %{y:.1%}<br>%{customdata[0]} items"
             "<br>Capital spend $%{customdata[1]:,.0f}<br>Annual cost $%{customdata[2]:,.0f}<extra></extra>")
    fig = go.Figure(go.Scatter(x=table["budget"], y=table["risk_reduced"], mode="lines+markers", name="best plan",
                               line_shape="hv", customdata=data, hovertemplate=hover,
                               marker=dict(size=10)))
    # a step the solver's gaps cannot tell from no gain (``Frontier.tolerance_words``)
    unproven = table[table["step_proven"].eq(False)]
    if not unproven.empty:
        fig.add_scatter(x=unproven["budget"], y=unproven["risk_reduced"], mode="markers",
                        name="step not proven to buy more (within the solver's gap)",
                        marker=dict(size=14, symbol="circle-open", color="#7f7f7f", line=dict(width=2)),
                        hovertemplate="The step to $%{x:,.0f} is within the solver's gap<extra></extra>")
    knee = table[table["knee"]]
    if not knee.empty:
        fig.add_scatter(x=knee["budget"], y=knee["risk_reduced"], mode="markers", name="knee",
                        marker=dict(size=18, symbol="circle-open", color="#d62728", line=dict(width=3)),
                        customdata=knee[["items", "capital", "annual", "gain"]].to_numpy(), hovertemplate=hover)
    if selected is not None:
        row = table[table["budget"] == selected]
        fig.add_scatter(x=row["budget"], y=row["risk_reduced"], mode="markers", name="shown below",
                        marker=dict(size=16, symbol="diamond", color="#ff7f0e"), hoverinfo="skip")
    fig.add_vline(x=scenario_budget, line_dash="dot", annotation_text="scenario budget")
    fig.update_xaxes(title="local capital over the horizon", **DOLLAR_AXIS)
    # a frontier often rises by tenths of a point: whole percents would label every tick alike
    fig.update_yaxes(title="modelled risk reduced (share of the risk left)", tickformat=".1%")
    return _layout(fig, "Efficient frontier: best plan at each budget (click a point to see its plan)", 460)


def grouped_bars(frame: pd.DataFrame, names: list[str], title: str, order=None) -> go.Figure:
    """One bar per plan (columns ``names``) for each row of ``frame`` (dollars).

    The x axis lists ``order`` (e.g. every fiscal year of the horizon, or the layers in PASS
    order), then any other row of ``frame``; without ``order``, the rows in ascending order
    when they are fiscal years, else as ``frame`` has them."""
    fig = go.Figure()
    palette = colors(names)
    for name in names:
        fig.add_bar(x=[str(i) for i in frame.index], y=frame[name], name=name, marker_color=palette[name],
                    hovertemplate=name + ": $%{y:,.0f}<extra></extra>")
    categories = _category_order([*(order or []), *frame.index])
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=categories)
    fig.update_yaxes(title="US dollars", **DOLLAR_AXIS)
    return _layout(fig, title, 360)


def selection_frequency(frequency: pd.DataFrame) -> go.Figure:
    """Share of random draws choosing each measure (measures chosen at least once)."""
    title = "How often each measure is chosen"
    chosen = frequency[frequency["share"] > 0].sort_values("share")
    if chosen.empty:
        return empty(title, "No measure was chosen in any draw")
    fig = px.bar(chosen, x="share", y="name", color="verdict", orientation="h",
                 hover_data={"measure_id": True, "mean_places": ":.1f", "name": False},
                 category_orders={"verdict": ["robust buy", "borderline", "rarely"]})
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    # one category per measure, lowest share at the bottom (plotly would order them by verdict trace)
    fig.update_yaxes(title=None, type="category", categoryorder="array", categoryarray=list(chosen["name"]))
    return _layout(fig, title, 120 + 18 * len(chosen))


def verdict_counts(screened: pd.DataFrame, order: list[str]) -> go.Figure:
    """Number of catalog measures per screening verdict."""
    counts = screened["verdict"].value_counts().reindex(order).dropna()
    fig = go.Figure(go.Bar(x=counts.index, y=counts.to_numpy(), text=counts.to_numpy(),
                           textposition="outside", hovertemplate="%{x}: %{y} measures<extra></extra>"))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(counts.index))
    return _layout(fig, "Catalog measures by verdict", 320)
