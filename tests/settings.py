"""Settings for the test suite: the real settings, with throwaway keys.

The test databases are thrown away, so their keys are too: made fresh for each run and
held in the environment (child processes the tests start inherit them), never written to
a key file. Tests that exercise key files start ``huzhu`` in a subprocess with an
environment of their own.
"""

import os

from huzhu.config.secrets import new_keys

for _name, _value in new_keys().items():
    os.environ.setdefault(_name, _value)

from huzhu.config.settings import *  # noqa: E402, F403

AUTHENTICATION_BACKENDS = ["tests.auth.LockoutBackend",
                           "django.contrib.auth.backends.ModelBackend",
                           "huzhu.orgs.roles.RoleBackend"]
