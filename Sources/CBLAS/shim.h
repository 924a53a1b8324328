// The one C header Heed sees: OpenBLAS's CBLAS interface (+ its thread control) and LAPACKE.
#pragma once
#include <cblas.h>
#include <lapacke.h>
