"""Shipped configuration and the typed models that read it.

The innermost layer: `workflow`, `schedules` and `notifiers` import from here, never the
reverse. Everything a province may change (levels, plans, holidays, templates) is data in
this folder or a file the user points at; the models here turn it into checked values.
"""
