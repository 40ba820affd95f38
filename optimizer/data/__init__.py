"""Reading and checking the inputs: catalog, scenario, grant programs and their rules, state
mandates, price index; the stage ends with validated ``Inputs``."""
