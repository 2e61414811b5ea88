#include "cleaksys.h"
