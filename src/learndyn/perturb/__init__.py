"""The perturb study: adversarial perturbations over training, their spectra and breakpoints.

Reproduction of Ortega Caro et al. (arXiv 2006.11440; spec shared/papers/adversarial.md).
data -> models -> training (dense early checkpoints) -> attacks per checkpoint -> spectra and
breakpoints -> claims and figures; plus the Fourier-feature contamination experiment (adversarial.md, 'Fourier-feature
contamination experiment (C4)'). Importing this package is cheap (no torch); submodules import what they need.
"""
