// The whole public API of Sluice in one include.
#pragma once

#include "sluice/aggregate.hpp"
#include "sluice/arrow.hpp"
#include "sluice/batch.hpp"
#include "sluice/dictionary.hpp"
#include "sluice/duration.hpp"
#include "sluice/engine.hpp"
#include "sluice/expr.hpp"
#include "sluice/histogram.hpp"
#include "sluice/query.hpp"
#include "sluice/result.hpp"
#include "sluice/schema.hpp"
#include "sluice/status.hpp"
#include "sluice/trigger.hpp"
#include "sluice/types.hpp"
#include "sluice/value.hpp"
#include "sluice/window.hpp"
