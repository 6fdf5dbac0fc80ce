// libexecvm: commands and pipelines as data, and the runners that run them (here, in execvm
// VMs, in containers, nowhere). See execvm/pipeline.h.
#pragma once

#include "execvm/pipeline.h"
#include "execvm/runner.h"
