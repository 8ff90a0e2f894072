// annoy_user_code.inc compiled against real Annoy (Debian's r-cran-rcppannoy ships its
// annoylib.h, without the Annoy namespace, which the program's `using namespace` then
// names empty). Linked into annoylib_test, which compares the two.
#define ANNOYLIB_MULTITHREADED_BUILD
namespace Annoy {}
#include <annoylib.h>
#include <kissrandom.h>
#define ANNOY_USER_PRECISION annoy_precision
#include "annoy_user_code.inc"
