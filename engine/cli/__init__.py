"""
The ``outdial`` command. Each module here defines ``COMMANDS``, a list of click
commands or groups that ``main`` mounts; adding a module adds its commands.
"""
