"""Vigil's steps, each written once: pages, the command line and the API call the same
function to do the same thing (configure a live series, ...)."""
