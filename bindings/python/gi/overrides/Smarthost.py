# Smarthost.py: PyGObject overrides for Smarthost-1.0
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# PyGObject imports this module when a program imports gi.repository.Smarthost
# (gi.overrides extends its __path__ over sys.path). It only makes relays
# print like people expect; to_string() never shows the password, so neither
# do repr() and str().

from ..module import get_introspection_module
from ..overrides import override

Smarthost = get_introspection_module('Smarthost')

__all__ = []


class Relay(Smarthost.Relay):
    def __str__(self):
        return self.to_string()

    def __repr__(self):
        return '<Smarthost.Relay %s>' % self.to_string()


Relay = override(Relay)
__all__.append('Relay')
