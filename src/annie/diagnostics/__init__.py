"""Tools that make training visible: gradient checking, gradient flow, anomaly detection."""
from .gradcheck import GradcheckResult, gradcheck

__all__ = ["gradcheck", "GradcheckResult"]
