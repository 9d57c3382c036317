"""Number formats for 简体中文: union finance writes 1,234,567.89, not Django's bare 1234567.89."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
