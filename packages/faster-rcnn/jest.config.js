module.exports = { ...require('../../jest.preset.js'), displayName: 'faster-rcnn' };
