"""School security investment optimizer: catalog, scenarios, optimal verified plans."""
from .catalog import Catalog, load_catalog
from .errors import InputError, InputProblem, OptimizerError
from .inputs import Inputs, check_against_catalog, load_inputs
from .scenario import Scenario, load_scenario

__all__ = ["Catalog", "InputError", "InputProblem", "Inputs", "OptimizerError",
           "Scenario", "check_against_catalog", "load_catalog", "load_inputs", "load_scenario"]
