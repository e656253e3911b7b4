"""The Python a host program calls: plain functions, written and kept as they are.

``fee_adjusted_return`` is the seed scenario's function: a scalar function that a Rust or
C program called once per trade through CPython's C API, from several threads, and got
no speed-up, since every call holds the GIL. The hosts in ``c/`` and ``rust/`` export it
with ``vp.export(vp.stage(fee_adjusted_return, elementwise=True), SIGNATURE)`` and call
the compiled function from their own threads, with the GIL released. This file does not
import vecpipe.
"""

from __future__ import annotations

import math

#: The exported function's signature: three arrays and a scalar, one result per element.
SIGNATURE = "f8[:], f8[:], f8[:], f8 -> f8[:]"


def fee_adjusted_return(price, prev_price, volume, fee_bps):
    """The log return of one trade, less a fee that grows with the traded volume."""
    gross = math.log(price / prev_price)
    fee = fee_bps * 1e-4 * (1.0 + math.sqrt(volume) / 100.0)
    if gross > 0.0:
        return gross - fee
    return gross + fee
