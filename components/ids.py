"""App-wide component IDs, shared by the shell and the pages."""

DATASET = "app-dataset"  # dcc.Store: the id of the data set in use
TIME_ZONE = "app-time-zone"  # dcc.Store: the IANA zone times are shown in ('UTC' unless picked)
BROWSER_ZONE = "app-browser-zone"  # dcc.Store: the browser's own IANA zone, read in the page
BUSY = "app-busy"  # dbc.Alert: shown when a run is refused because the server is busy
