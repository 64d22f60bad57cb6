"""Continuous deployment: the process that reads the registry's event outbox, delivers
webhooks and applies deployment triggers (see docs/events.md).

It sits above the control plane (a trigger updates a service through
`modelport.deploy.service.update_service`) and below the v1 façade, which exposes it as
`Webhook` and `Webservice.follow`.
"""
