"""Work that runs beside the web server: live scoring wired to one Vigil and its scoring
process (`live_scoring`), the Celery tasks (`tasks`) and the bounded manager of the pages'
long runs (`jobs`).
"""
