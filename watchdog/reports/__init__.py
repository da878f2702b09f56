"""Reports for people: the monthly leadership summary, the on-call weekly digest, the device
inventory and the OpenMetrics endpoint. Computation is pure (``history`` reads the store once);
``deliver`` sends and archives; ``metrics`` serves ``/metrics``."""
