"""Vigil's steps, each written once: pages, the command line and the API call the same
function to do the same thing: run an analysis (`analysis`), configure a live series
(`live_series`), judge detectors on labels (`evaluate`), write results as files (`export`),
alert on what was flagged (`alerting`), and count down a long run (`countdown`). Each takes
the `Services` whose stores it uses, or plain data."""
