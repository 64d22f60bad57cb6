"""Undecorated run(raw_data): echoes the exact body text it received."""


def init():
    global prefix
    prefix = ""


def run(raw_data):
    return prefix + raw_data
