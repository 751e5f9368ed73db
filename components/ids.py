"""App-wide component IDs, shared by the shell and the pages."""

DATASET = "app-dataset"  # dcc.Store: the id of the data set in use
