"""App-wide component IDs, shared by the shell and the pages."""

DATASET = "app-dataset"  # dcc.Store: the id of the data set in use
UPLOAD_RESULT = "app-upload-result"  # dcc.Store: what the upload endpoint answered
DATASETS_CHANGED = "app-datasets-changed"  # dcc.Store: bumped when the list of data sets changes
