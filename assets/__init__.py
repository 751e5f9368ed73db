"""The browser's files: style sheets and scripts Dash serves with every page.

A package only so that they install inside Vigil (`vigil.assets`); nothing here is Python.
"""
