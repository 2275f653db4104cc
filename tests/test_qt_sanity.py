"""Guards against Qt binding bugs that crash the app long after their cause."""

import sys


def test_void_qt_calls_keep_none_alive():
    # PySide6 6.12.0 decremented None's reference count on every call returning void, which
    # aborts Python 3.11 ("deallocating None") after a few thousand calls, e.g. while drawing.
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QPainterPath

    before = sys.getrefcount(None)
    path = QPainterPath()
    point = QPointF(1.0, 1.0)
    for _ in range(200):
        path.lineTo(1.0, 1.0)
        path.quadTo(point, point)
        point.setX(2.0)
    assert abs(sys.getrefcount(None) - before) < 50
