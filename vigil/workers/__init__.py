"""Work that runs beside the web server: the Celery tasks and the bounded manager of the
pages' long runs.
"""
