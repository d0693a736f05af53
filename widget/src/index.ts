/** core.js: the widget core, loaded asynchronously by the loader snippet. */
import { browserEnv } from "./core/env";
import { install } from "./sdk";

install(browserEnv());
