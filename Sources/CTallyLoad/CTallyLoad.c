// Headers only: see include/CTallyLoad.h.
#include "CTallyLoad.h"
