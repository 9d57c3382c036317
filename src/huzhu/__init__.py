"""huzhu (互助): a trade union's employee mutual-aid protection system."""

__version__ = "0.1.0"
