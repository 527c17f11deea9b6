"""The anomalies injected into the last day of the history, one module per kind.

They run in this order, each sized from the costs the server reported for what was sent before
it and placed so that one does not read as another: ``cost_rise`` (which moves the cost team to
dearer models), ``drift``, ``retry_loop``, ``spike`` (which may pick a cost-team agent on its new
model) and ``new_agent`` (which copies an agent of a team whose cost per call it will not move).
"""
