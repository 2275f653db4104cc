"""LeNet Studio's engine: data sets, preprocessing, networks, training and inference.

Nothing in this package imports Qt, and importing it (or `lenet_core.inference`) does not
import TensorFlow: the heavy framework is loaded only where training or export needs it.
"""

__version__ = "0.1.0"
