"""The message catalogue of human-facing outputs (German first, English): labels of columns and
enum values, report and explanation texts. A leaf beside the domains: matching renders its
explanations with it and reports its tables, so neither imports the other for words."""
