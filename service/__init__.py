"""Running the service: the ``hankintavahti`` command line and the scheduler."""
