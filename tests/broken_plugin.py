"""A plugin module that fails at import, as a half-installed package would."""

raise ImportError("No module named 'some_missing_dependency'")
