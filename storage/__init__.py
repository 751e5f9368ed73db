"""Storage shared by every part of Vigil: how its SQLite files are opened."""
