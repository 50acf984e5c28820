// Loom vs llama.cpp on the llama fixture (F32, F16, Q8_0); see suite.ts for what is compared and why.
import { oracleTests } from "./suite.js";

oracleTests("llama");
