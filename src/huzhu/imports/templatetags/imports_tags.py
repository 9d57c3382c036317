from django import template

register = template.Library()


@register.filter
def in_one_of(field: str, columns) -> bool:
    """Whether a column is one of a pair of which the file needs either (二选一)."""
    return columns.either(field)
