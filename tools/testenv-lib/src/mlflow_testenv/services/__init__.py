"""One module per service; each defines `SERVICE = <Service subclass>()`."""
