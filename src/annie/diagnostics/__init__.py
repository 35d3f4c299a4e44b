"""Tools that make training visible: gradient checking, gradient flow, anomaly detection."""
from .anomaly import AnomalyError, detect_anomaly
from .gradcheck import GradcheckResult, gradcheck

__all__ = ["gradcheck", "GradcheckResult", "detect_anomaly", "AnomalyError"]
