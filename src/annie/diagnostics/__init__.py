"""Tools that make training visible: gradient checking, gradient flow, anomaly detection,
computational graphs."""
from .anomaly import AnomalyError, detect_anomaly
from .gradcheck import GradcheckResult, gradcheck
from .gradient_flow import GradientFlow, activation_statistics, gradient_flow

__all__ = ["gradcheck", "GradcheckResult", "detect_anomaly", "AnomalyError"]
__all__ += ["gradient_flow", "GradientFlow", "activation_statistics"]
from .graph import draw_graph, graph_dot, render_dot

__all__ += ["draw_graph", "graph_dot", "render_dot"]
