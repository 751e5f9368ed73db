"""Vigil's web side beyond the pages: sign-in and the role gate, the upload and feedback
endpoints, the live ingest API and the headers every answer carries.
"""
