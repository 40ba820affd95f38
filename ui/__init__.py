"""The Streamlit app's pages and the pieces they share. Only public functions of
``optimizer`` are called from here; no planning logic lives in this package."""
