"""reconciler: OCPP 1.6 charging profiles as code for EV charging networks run on eDRV.

Layers, from the inside out: the pure core (`model`, `rules`, `template`, `validate`, `payload`,
`edrv`, `ids`, `typeerrors`) knows no files, network, clock or terminal; adapters (`loader`) read
the outside world; `cli` is the face. `tests/test_layers.py` keeps it that way.
"""

__version__ = "0.1.0"
