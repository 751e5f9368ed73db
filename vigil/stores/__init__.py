"""Where Vigil keeps things: data sets, results, models, marks, tokens, users and the
email server's settings, each a store over the database or the file store.
"""
