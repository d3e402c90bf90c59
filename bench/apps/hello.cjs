'use strict';
// The one-line JSON handler every peer is measured on.
const { serve, hello } = require('./_common.cjs');
serve(hello);
