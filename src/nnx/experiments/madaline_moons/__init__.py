"""madaline_moons: a Madaline trained by MRII (default) or MRI on two moons; sweep `model.hidden=3,5,8`."""
