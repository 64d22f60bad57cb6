"""Deployment targets, one package each, registered under the `modelport.targets` entry points.

A target implements `modelport.deploy.target.DeploymentTarget`; targets never import each
other. See docs/architecture.md for how to add one.
"""
