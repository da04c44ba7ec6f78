'use strict';

// Package-time checks of rules CloudFormation cannot express, so a stage whose
// parameters break them fails before anything is deployed.

class StackRulesPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:finalize': () => this.check(),
    };
  }

  check() {
    const service = this.serverless.service;
    const resources = (service.resources && service.resources.Resources) || {};
    const queue = resources.JobsQueue;
    const jobs = service.getFunction('jobs');
    const workerTimeout = Number(jobs.timeout || service.provider.timeout);
    const visibility = Number(queue && queue.Properties && queue.Properties.VisibilityTimeout);
    if (!(visibility >= 6 * workerTimeout)) {
      throw new this.serverless.classes.Error(
        `jobsVisibilityTimeout (${visibility}s) must be at least 6 x workerTimeout ` +
          `(${workerTimeout}s = ${6 * workerTimeout}s), or a running message is redelivered.`
      );
    }
    const api = service.getFunction('api');
    if (Number(api.provisionedConcurrency) > 0 && api.snapStart) {
      throw new this.serverless.classes.Error(
        'provisionedConcurrency and snapStart cannot both be enabled on the api function.'
      );
    }
  }
}

module.exports = StackRulesPlugin;
