"""LeNet Studio's desktop GUI (PySide6). All recognition and training logic lives in
`lenet_core`; this package only shows it and runs it off the GUI thread.
"""
