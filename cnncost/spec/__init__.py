"""The spec language: safe YAML reading, validation with friendly locations, variables and resolution."""
