"""The operator's language: what `desired/<site>.yaml` may say, and every check it must pass.

Holds the site models, the YAML loader that places each problem at file:line:column, templates and
overrides, the validation rules (the grid guard among them), the OCPP payload a desired profile
becomes, and id allocation.

May import: `reconciler.errors`, `reconciler.ocpp`.
"""
